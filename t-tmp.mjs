import sharp from 'sharp'; import {readFileSync, readdirSync} from 'node:fs';
const frames = readdirSync('/tmp/snap12').filter(f=>/^f.*jpg$/.test(f)).map(f=>readFileSync('/tmp/snap12/'+f));
const cpu=()=>{const u=process.cpuUsage();return (u.user+u.system)/1000;};
const P=Number(process.env.PAR??4), N=300;
const res={};
const variants = {
  cacheOn: async()=>{sharp.cache(true);}, cacheOff: async()=>{sharp.cache(false);},
};
async function batch(name, fn){ await variants[name.split('/')[0]]?.(); let i=0; const c0=cpu();
 await Promise.all(Array.from({length:P},async()=>{while(i<N){const b=frames[i++%40]; await fn(b);}}));
 (res[name]??=[]).push((cpu()-c0)/N); }
const plain = b=>sharp(b).removeAlpha().resize(512,512,{fit:'fill'}).raw().toBuffer();
const seq = b=>sharp(b,{sequentialRead:true}).removeAlpha().resize(512,512,{fit:'fill'}).raw().toBuffer();
for (let r=0;r<5;r++){ await batch('cacheOn', plain); await batch('cacheOff', plain); await batch('cacheOn/seq', seq); }
for (const [k,v] of Object.entries(res)) console.log(k, v.map(x=>x.toFixed(2)).join(' '), 'median', [...v].sort()[2].toFixed(2));
